import { Migration } from '@mikro-orm/migrations';

/**
 * A goods' minCount as of each change is kept in its log row: a Change's goods (live, or read from the
 * log) carries it like every other view of the goods, so an edit of the threshold reaches the watchers.
 */
export class Migration20261219000000LogMinCount extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table `logs` add column `min_count` integer not null default 0');
  }
}

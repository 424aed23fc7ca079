import { Migration } from '@mikro-orm/migrations';

/**
 * A remembered outcome can be larger than TEXT's 64 KiB: a count's finish answers its whole variance
 * report (a line per counted code, up to MAX_GOODS_PER_DIRECTORY of them), and it is stored for its
 * event id like any other answer. MEDIUMTEXT holds 16 MiB. (SQLite's text has no such limit.)
 */
export class Migration20261217000000OutcomeSize extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table `event_outcomes` modify `outcome` mediumtext not null');
  }
}

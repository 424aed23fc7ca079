import { Migration } from '@mikro-orm/migrations';

/**
 * Whether a change took its goods below minCount is kept in its log row: a Change read from the log
 * (GET changes, a subscribe's replay, a watcher's gap filled) carries `lowStock` as the live one does.
 */
export class Migration20261217000100LowStockLog extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table `logs` add column `low_stock` integer not null default 0');
  }
}

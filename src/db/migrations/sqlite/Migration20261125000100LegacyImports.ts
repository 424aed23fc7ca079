import { Migration } from '@mikro-orm/migrations';

/**
 * What the Django import (src/modules/legacy-import) brought across: one row per old row, with its new
 * id and a fingerprint of the old row as imported, so that a second run writes only what changed.
 */
export class Migration20261125000100LegacyImports extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table `legacy_imports` (`id` integer not null primary key autoincrement, `kind` text not null, `old_id` integer not null, `new_id` integer null, `fingerprint` text not null, `imported_at` datetime not null)',
    );
    this.addSql('create unique index `legacy_imports_kind_old_id_unique` on `legacy_imports` (`kind`, `old_id`)');
  }
}

import { Migration } from '@mikro-orm/migrations';

/**
 * What the Django import (src/modules/legacy-import) brought across: one row per old row, with its new
 * id and a fingerprint of the old row as imported, so that a second run writes only what changed.
 */
export class Migration20261125000100LegacyImports extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table `legacy_imports` (`id` int unsigned not null auto_increment primary key, `kind` varchar(16) not null, `old_id` int not null, `new_id` int unsigned null, `fingerprint` text not null, `imported_at` datetime(3) not null) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB',
    );
    this.addSql('alter table `legacy_imports` add unique `legacy_imports_kind_old_id_unique`(`kind`, `old_id`)');
  }
}

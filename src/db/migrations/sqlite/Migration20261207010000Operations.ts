import { Migration } from '@mikro-orm/migrations';

/**
 * Warehouse operations: a log entry knows the transfer it is a side of, the change it undoes, the
 * undo that undid it and the count session that set it; goods have a low-stock threshold; count
 * sessions and their lines. `open_directory_id` is the directory while a count is open and NULL after,
 * so its unique key allows one open count per directory in the database itself.
 */
export class Migration20261207010000Operations extends Migration {
  override async up(): Promise<void> {
    for (const column of ['`transfer_id` text null', '`transfer_from` integer null', '`transfer_to` integer null', '`undoes` integer null', '`undone_by` integer null', '`count_id` integer null']) {
      this.addSql(`alter table \`logs\` add column ${column}`);
    }
    this.addSql('create index `logs_transfer_id_index` on `logs` (`transfer_id`)');
    this.addSql('alter table `goods` add column `min_count` integer not null default 0');
    this.addSql(
      'create table `counts` (`id` integer not null primary key autoincrement, `directory_id` integer not null, `open_directory_id` integer null, `name` text not null, `status` text not null, `started_by` integer not null, `started_at` datetime not null, `closed_at` datetime null, constraint `counts_directory_id_foreign` foreign key(`directory_id`) references `directories`(`id`) on delete cascade on update cascade)',
    );
    this.addSql('create unique index `counts_open_directory_id_unique` on `counts` (`open_directory_id`)');
    this.addSql('create index `counts_directory_id_index` on `counts` (`directory_id`)');
    this.addSql(
      'create table `count_lines` (`id` integer not null primary key autoincrement, `count_id` integer not null, `code` text not null, `code_hash` text not null, `counted` integer not null check (`counted` >= 0), `updated_at` datetime not null, constraint `count_lines_count_id_foreign` foreign key(`count_id`) references `counts`(`id`) on delete cascade on update cascade)',
    );
    this.addSql('create unique index `count_lines_count_id_code_hash_unique` on `count_lines` (`count_id`, `code_hash`)');
  }
}

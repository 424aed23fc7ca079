import { Migration } from '@mikro-orm/migrations';

/**
 * Warehouse operations: a log entry knows the transfer it is a side of, the change it undoes, the
 * undo that undid it and the count session that set it; goods have a low-stock threshold; count
 * sessions and their lines. `open_directory_id` is the directory while a count is open and NULL after,
 * so its unique key allows one open count per directory in the database itself.
 */
export class Migration20261207010000Operations extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'alter table `logs` add `transfer_id` varchar(64) null, add `transfer_from` int unsigned null, add `transfer_to` int unsigned null, add `undoes` int null, add `undone_by` int null, add `count_id` int unsigned null',
    );
    this.addSql('alter table `logs` add index `logs_transfer_id_index`(`transfer_id`)');
    this.addSql('alter table `goods` add `min_count` int not null default 0');
    this.addSql(
      'create table `counts` (`id` int unsigned not null auto_increment primary key, `directory_id` int unsigned not null, `open_directory_id` int unsigned null, `name` varchar(100) not null, `status` varchar(16) not null, `started_by` int unsigned not null, `started_at` datetime(3) not null, `closed_at` datetime(3) null) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB',
    );
    this.addSql('alter table `counts` add unique `counts_open_directory_id_unique`(`open_directory_id`)');
    this.addSql('alter table `counts` add index `counts_directory_id_index`(`directory_id`)');
    this.addSql('alter table `counts` add constraint `counts_directory_id_foreign` foreign key (`directory_id`) references `directories` (`id`) on update cascade on delete cascade');
    this.addSql(
      'create table `count_lines` (`id` int unsigned not null auto_increment primary key, `count_id` int unsigned not null, `code` text not null, `code_hash` varchar(64) not null, `counted` int not null check (`counted` >= 0), `updated_at` datetime(3) not null) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB',
    );
    this.addSql('alter table `count_lines` add unique `count_lines_count_id_code_hash_unique`(`count_id`, `code_hash`)');
    this.addSql('alter table `count_lines` add constraint `count_lines_count_id_foreign` foreign key (`count_id`) references `counts` (`id`) on update cascade on delete cascade');
  }
}

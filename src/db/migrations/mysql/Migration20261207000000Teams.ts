import { Migration } from '@mikro-orm/migrations';

/**
 * Teams: a directory's members with their roles, its invites and who accepted each. Every existing
 * directory's owner becomes its `owner` member (deleted directories too, so that their history reads
 * the same); nothing else changes.
 */
export class Migration20261207000000Teams extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table `members` (`id` int unsigned not null auto_increment primary key, `directory_id` int unsigned not null, `user_id` int unsigned not null, `role` varchar(16) not null, `created_at` datetime(3) not null) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB',
    );
    this.addSql('alter table `members` add unique `members_directory_id_user_id_unique`(`directory_id`, `user_id`)');
    this.addSql('alter table `members` add index `members_user_id_index`(`user_id`)');
    this.addSql('alter table `members` add constraint `members_directory_id_foreign` foreign key (`directory_id`) references `directories` (`id`) on update cascade on delete cascade');
    this.addSql('alter table `members` add constraint `members_user_id_foreign` foreign key (`user_id`) references `users` (`id`) on update cascade on delete cascade');
    this.addSql(
      'create table `invites` (`id` int unsigned not null auto_increment primary key, `directory_id` int unsigned not null, `code` varchar(64) not null, `role` varchar(16) not null, `max_uses` int not null, `uses` int not null default 0, `expires_at` datetime(3) not null, `created_by` int unsigned not null, `created_at` datetime(3) not null, `revoked_at` datetime(3) null) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB',
    );
    this.addSql('alter table `invites` add unique `invites_code_unique`(`code`)');
    this.addSql('alter table `invites` add index `invites_directory_id_index`(`directory_id`)');
    this.addSql('alter table `invites` add constraint `invites_directory_id_foreign` foreign key (`directory_id`) references `directories` (`id`) on update cascade on delete cascade');
    this.addSql(
      'create table `invite_accepts` (`id` int unsigned not null auto_increment primary key, `invite_id` int unsigned not null, `user_id` int unsigned not null, `at` datetime(3) not null) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB',
    );
    this.addSql('alter table `invite_accepts` add unique `invite_accepts_invite_id_user_id_unique`(`invite_id`, `user_id`)');
    this.addSql('alter table `invite_accepts` add constraint `invite_accepts_invite_id_foreign` foreign key (`invite_id`) references `invites` (`id`) on update cascade on delete cascade');
    this.addSql("insert into `members` (`directory_id`, `user_id`, `role`, `created_at`) select `id`, `owner_id`, 'owner', `created_at` from `directories`");
  }
}

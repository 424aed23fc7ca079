import { Migration } from '@mikro-orm/migrations';

/**
 * Teams: a directory's members with their roles, its invites and who accepted each. Every existing
 * directory's owner becomes its `owner` member (deleted directories too, so that their history reads
 * the same); nothing else changes.
 */
export class Migration20261207000000Teams extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table `members` (`id` integer not null primary key autoincrement, `directory_id` integer not null, `user_id` integer not null, `role` text not null, `created_at` datetime not null, constraint `members_directory_id_foreign` foreign key(`directory_id`) references `directories`(`id`) on delete cascade on update cascade, constraint `members_user_id_foreign` foreign key(`user_id`) references `users`(`id`) on delete cascade on update cascade)',
    );
    this.addSql('create unique index `members_directory_id_user_id_unique` on `members` (`directory_id`, `user_id`)');
    this.addSql('create index `members_user_id_index` on `members` (`user_id`)');
    this.addSql(
      'create table `invites` (`id` integer not null primary key autoincrement, `directory_id` integer not null, `code` text not null, `role` text not null, `max_uses` integer not null, `uses` integer not null default 0, `expires_at` datetime not null, `created_by` integer not null, `created_at` datetime not null, `revoked_at` datetime null, constraint `invites_directory_id_foreign` foreign key(`directory_id`) references `directories`(`id`) on delete cascade on update cascade)',
    );
    this.addSql('create unique index `invites_code_unique` on `invites` (`code`)');
    this.addSql('create index `invites_directory_id_index` on `invites` (`directory_id`)');
    this.addSql(
      'create table `invite_accepts` (`id` integer not null primary key autoincrement, `invite_id` integer not null, `user_id` integer not null, `at` datetime not null, constraint `invite_accepts_invite_id_foreign` foreign key(`invite_id`) references `invites`(`id`) on delete cascade on update cascade)',
    );
    this.addSql('create unique index `invite_accepts_invite_id_user_id_unique` on `invite_accepts` (`invite_id`, `user_id`)');
    this.addSql("insert into `members` (`directory_id`, `user_id`, `role`, `created_at`) select `id`, `owner_id`, 'owner', `created_at` from `directories`");
  }
}

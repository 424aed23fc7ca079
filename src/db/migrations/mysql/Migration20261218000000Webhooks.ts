import { Migration } from '@mikro-orm/migrations';

/**
 * Webhooks: each keeps its cursor (`delivered_revision`: every change up to it was delivered or given
 * up) and the retry time of the change after it, so that the pending deliveries are the directory's log
 * after the cursor, durable with no write on the scan path. `lease_owner`/`lease_until` let one instance
 * at a time deliver a webhook. `webhook_deliveries` is the delivery log the worker writes per attempt.
 */
export class Migration20261218000000Webhooks extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table `webhooks` (`id` int unsigned not null auto_increment primary key, `directory_id` int unsigned not null, `url` varchar(2048) not null, `secret` varchar(256) not null, `created_by` int unsigned not null, `created_at` datetime(3) not null, `delivered_revision` int not null default 0, `next_attempt_at` datetime(3) null, `lease_owner` varchar(64) null, `lease_until` datetime(3) null) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB',
    );
    this.addSql('alter table `webhooks` add index `webhooks_directory_id_index`(`directory_id`)');
    this.addSql('alter table `webhooks` add constraint `webhooks_directory_id_foreign` foreign key (`directory_id`) references `directories` (`id`) on update cascade on delete cascade');
    this.addSql(
      'create table `webhook_deliveries` (`id` int unsigned not null auto_increment primary key, `webhook_id` int unsigned not null, `revision` int not null, `attempts` int not null, `status` varchar(16) not null, `first_attempt_at` datetime(3) not null, `last_attempt_at` datetime(3) not null, `last_status` int null, `last_error` varchar(500) null, `next_attempt_at` datetime(3) null) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB',
    );
    this.addSql('alter table `webhook_deliveries` add unique `webhook_deliveries_webhook_id_revision_unique`(`webhook_id`, `revision`)');
    this.addSql('alter table `webhook_deliveries` add constraint `webhook_deliveries_webhook_id_foreign` foreign key (`webhook_id`) references `webhooks` (`id`) on update cascade on delete cascade');
  }
}

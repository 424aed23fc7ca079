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
      'create table `webhooks` (`id` integer not null primary key autoincrement, `directory_id` integer not null, `url` text not null, `secret` text not null, `created_by` integer not null, `created_at` datetime not null, `delivered_revision` integer not null default 0, `next_attempt_at` datetime null, `lease_owner` text null, `lease_until` datetime null, constraint `webhooks_directory_id_foreign` foreign key(`directory_id`) references `directories`(`id`) on delete cascade on update cascade)',
    );
    this.addSql('create index `webhooks_directory_id_index` on `webhooks` (`directory_id`)');
    this.addSql(
      'create table `webhook_deliveries` (`id` integer not null primary key autoincrement, `webhook_id` integer not null, `revision` integer not null, `attempts` integer not null, `status` text not null, `first_attempt_at` datetime not null, `last_attempt_at` datetime not null, `last_status` integer null, `last_error` text null, `next_attempt_at` datetime null, constraint `webhook_deliveries_webhook_id_foreign` foreign key(`webhook_id`) references `webhooks`(`id`) on delete cascade on update cascade)',
    );
    this.addSql('create unique index `webhook_deliveries_webhook_id_revision_unique` on `webhook_deliveries` (`webhook_id`, `revision`)');
  }
}

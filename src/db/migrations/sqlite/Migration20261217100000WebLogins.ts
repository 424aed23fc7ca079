import { Migration } from '@mikro-orm/migrations';

/** Logins by scanning (the web dashboard's): each from the page's request to its one claim of a session. */
export class Migration20261217100000WebLogins extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table `web_logins` (`id` text not null primary key, `poll_token_hash` text not null, `created_at` datetime not null, `expires_at` datetime not null, `approved_by` integer null, `approved_at` datetime null, `used_at` datetime null)',
    );
    this.addSql('create index `web_logins_expires_at_index` on `web_logins` (`expires_at`)');
  }
}

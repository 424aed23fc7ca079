import { Migration } from '@mikro-orm/migrations';

/** Logins by scanning (the web dashboard's): each from the page's request to its one claim of a session. */
export class Migration20261217100000WebLogins extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table `web_logins` (`id` varchar(32) not null primary key, `poll_token_hash` varchar(64) not null, `created_at` datetime(3) not null, `expires_at` datetime(3) not null, `approved_by` int null, `approved_at` datetime(3) null, `used_at` datetime(3) null) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB',
    );
    this.addSql('alter table `web_logins` add index `web_logins_expires_at_index`(`expires_at`)');
  }
}

import { Migration } from '@mikro-orm/migrations';

/**
 * Codes of any QR code (up to 7,089 characters) compared byte for byte, and goods names up to 140.
 * A TEXT column cannot be a unique key, and utf8mb4_bin pads trailing spaces ('PAD-1' = 'PAD-1 '), so
 * goods are keyed by (directory, SHA-256 of the code) instead; SHA2() hashes the UTF-8 bytes, as the
 * server does.
 */
export class Migration20261125000000LongCodes extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table `goods` add `code_hash` varchar(64) null after `code`');
    this.addSql('update `goods` set `code_hash` = sha2(`code`, 256)');
    this.addSql("alter table `goods` modify `code` text not null, modify `code_hash` varchar(64) not null, modify `name` varchar(140) not null default ''");
    this.addSql('alter table `goods` add unique `goods_directory_id_code_hash_unique`(`directory_id`, `code_hash`)');
    this.addSql('alter table `goods` drop index `goods_directory_id_code_unique`');
    this.addSql('alter table `logs` modify `code` text null, modify `name` varchar(140) null');
  }
}

import { Migration } from '@mikro-orm/migrations';
import { codeHash } from '../../../modules/inventory/codes';

/**
 * Goods keyed by (directory, SHA-256 of the code), as on MySQL, so that both databases find goods the
 * same way. (SQLite does not enforce text lengths, so longer codes and names need nothing else.)
 * SQLite has no SHA-256 of its own: existing rows are hashed here.
 */
export class Migration20261125000000LongCodes extends Migration {
  override async up(): Promise<void> {
    this.addSql("alter table `goods` add column `code_hash` text not null default ''");
    const rows = (await this.execute('select `id`, `code` from `goods`')) as { id: number; code: string }[];
    // A hex digest and an integer id: nothing in these statements comes from a user.
    for (const row of rows) this.addSql(`update \`goods\` set \`code_hash\` = '${codeHash(row.code)}' where \`id\` = ${Number(row.id)}`);
    this.addSql('drop index `goods_directory_id_code_unique`');
    this.addSql('create unique index `goods_directory_id_code_hash_unique` on `goods` (`directory_id`, `code_hash`)');
  }
}

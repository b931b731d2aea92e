import { describe, expect, it } from 'vitest';
import { hrefPath, parsePropfind } from './webdav.ts';

describe('PROPFIND parsing', () => {
  it('parses nginx dav-ext answers (D: prefix)', () => {
    const xml = `<?xml version="1.0" encoding="utf-8" ?>
<D:multistatus xmlns:D="DAV:">
<D:response><D:href>/dav/x/</D:href><D:propstat><D:prop>
<D:getlastmodified>Sat, 21 Nov 2026 09:31:53 GMT</D:getlastmodified>
<D:resourcetype><D:collection/></D:resourcetype>
</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
<D:response><D:href>/dav/x/a%20b.txt</D:href><D:propstat><D:prop>
<D:getcontentlength>5</D:getcontentlength>
<D:getlastmodified>Sat, 21 Nov 2026 09:31:53 GMT</D:getlastmodified>
<D:resourcetype></D:resourcetype>
</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
</D:multistatus>`;
    const entries = parsePropfind(xml);
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ href: '/dav/x/', collection: true });
    expect(entries[1]).toMatchObject({ href: '/dav/x/a%20b.txt', collection: false, sizeBytes: 5 });
    expect(entries[1]?.updatedAt?.toISOString()).toBe('2026-11-21T09:31:53.000Z');
  });

  it('parses lowercase prefixes, absolute hrefs, quota and ignores 404 propstats', () => {
    const xml = `<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:lp1="DAV:">
 <d:response>
  <d:href>https://cloud.example.com/remote.php/dav/files/me/</d:href>
  <d:propstat><d:prop><d:resourcetype><d:collection /></d:resourcetype>
   <d:quota-available-bytes>1000</d:quota-available-bytes><d:quota-used-bytes>234</d:quota-used-bytes>
  </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
  <d:propstat><d:prop><d:getcontentlength/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>
 </d:response>
 <d:response>
  <d:href>https://cloud.example.com/remote.php/dav/files/me/R%26D%20%C3%BC.bin</d:href>
  <d:propstat><d:prop><lp1:getcontentlength>42</lp1:getcontentlength><d:resourcetype/></d:prop>
  <d:status>HTTP/1.1 200 OK</d:status></d:propstat>
 </d:response>
</d:multistatus>`;
    const [root, file] = parsePropfind(xml);
    expect(root).toMatchObject({
      collection: true,
      quotaAvailableBytes: 1000,
      quotaUsedBytes: 234,
      sizeBytes: 0,
    });
    expect(file).toMatchObject({ collection: false, sizeBytes: 42, updatedAt: undefined });
    expect(hrefPath(file?.href ?? '')).toBe('/remote.php/dav/files/me/R&D ü.bin');
    expect(hrefPath(root?.href ?? '')).toBe('/remote.php/dav/files/me');
  });

  it('parses answers without a namespace prefix and with default xmlns', () => {
    const xml = `<multistatus xmlns="DAV:"><response><href>/a/b.txt</href><propstat><prop>
<getcontentlength>7</getcontentlength><resourcetype/></prop><status>HTTP/1.1 200 OK</status></propstat></response>
<response><href>/a/&amp;dir/</href><propstat><prop><resourcetype><collection/></resourcetype></prop>
<status>HTTP/1.1 200 OK</status></propstat></response></multistatus>`;
    const entries = parsePropfind(xml);
    expect(entries.map((entry) => [entry.href, entry.collection, entry.sizeBytes])).toEqual([
      ['/a/b.txt', false, 7],
      ['/a/&dir/', true, 0],
    ]);
  });
});

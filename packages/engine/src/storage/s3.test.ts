import { describe, expect, it } from 'vitest';
import { resolveS3Settings } from './s3.ts';

const keys = { bucket: 'b', accessKeyId: 'AK', secretAccessKey: 'SK' };

describe('S3 preset endpoints (SPEC §4.2)', () => {
  it('maps Aliyun OSS regions, public and internal', () => {
    expect(resolveS3Settings('aliyun_oss', { ...keys, region: 'cn-hangzhou' })).toMatchObject({
      endpoint: 'https://oss-cn-hangzhou.aliyuncs.com',
      forcePathStyle: false,
    });
    expect(
      resolveS3Settings('aliyun_oss', { ...keys, region: 'cn-beijing', internalNetwork: true }).endpoint,
    ).toBe('https://oss-cn-beijing-internal.aliyuncs.com');
  });

  it('maps Tencent COS regions', () => {
    expect(resolveS3Settings('tencent_cos', { ...keys, region: 'ap-guangzhou' }).endpoint).toBe(
      'https://cos.ap-guangzhou.myqcloud.com',
    );
  });

  it('maps the Qiniu region table with path-style and rejects other regions', () => {
    const table = {
      z0: 'https://s3-cn-east-1.qiniucs.com',
      'cn-east-2': 'https://s3-cn-east-2.qiniucs.com',
      z1: 'https://s3-cn-north-1.qiniucs.com',
      z2: 'https://s3-cn-south-1.qiniucs.com',
      na0: 'https://s3-us-north-1.qiniucs.com',
      as0: 'https://s3-ap-southeast-1.qiniucs.com',
    };
    for (const [region, endpoint] of Object.entries(table)) {
      expect(resolveS3Settings('qiniu_kodo', { ...keys, region })).toMatchObject({
        endpoint,
        forcePathStyle: true,
      });
    }
    expect(() => resolveS3Settings('qiniu_kodo', { ...keys, region: 'mars-1' })).toThrow(/Qiniu/);
  });

  it('lets an explicit endpoint win and trims its trailing slash', () => {
    expect(
      resolveS3Settings('aliyun_oss', {
        ...keys,
        region: 'cn-hangzhou',
        endpoint: 'https://oss.example.com/',
      }).endpoint,
    ).toBe('https://oss.example.com');
    expect(
      resolveS3Settings('qiniu_kodo', { ...keys, region: 'mars-1', endpoint: 'https://kodo.example.com' })
        .endpoint,
    ).toBe('https://kodo.example.com');
    expect(resolveS3Settings('s3', { ...keys, endpoint: 'http://127.0.0.1:9000//' })).toMatchObject({
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      forcePathStyle: true,
    });
    expect(resolveS3Settings('s3', keys).endpoint).toBeUndefined();
  });

  it('normalises the key prefix', () => {
    expect(resolveS3Settings('s3', { ...keys, prefix: '/a/b/' }).prefix).toBe('a/b/');
    expect(resolveS3Settings('s3', { ...keys, prefix: '' }).prefix).toBe('');
    expect(() => resolveS3Settings('s3', { ...keys, prefix: 'a/../b' })).toThrow();
  });

  it('validates configs with the contract schemas', () => {
    expect(() => resolveS3Settings('s3', { bucket: 'b' })).toThrow();
    expect(() => resolveS3Settings('tencent_cos', { ...keys })).toThrow();
  });
});

// rocksdb is a CommonJS module whose typings declare `export default`; under NodeNext that
// default is mis-typed, so load it through require and give it its real type here, once.
import { createRequire } from 'node:module';
import type RocksDBModule from 'rocksdb';

type RocksDBConstructor = (typeof RocksDBModule)['default'];

const require = createRequire(import.meta.url);
export const rocksdb = require('rocksdb') as RocksDBConstructor;
export type RocksDB = ReturnType<RocksDBConstructor>;

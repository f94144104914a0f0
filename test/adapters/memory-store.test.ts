import { MemoryStore } from '../../src/adapters/memory-store.js';
import { storeContract } from '../integration/store-contract.js';

storeContract('MemoryStore', () => Promise.resolve(new MemoryStore()));

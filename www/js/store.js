// The page's durable memory (upload sessions, listings, the feed cursor, the outbox, pinned
// files) is kept by the WASM core (web-client's `idb`): these are its calls, named for the page.
export {
  storePut as put, storeGet as get, storeDelete as del, storeEntries as entries,
  storeClear as clearAll, outboxAdd as enqueue, outboxAll as outbox,
} from '../pkg/web_client.js';

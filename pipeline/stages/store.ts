/** The part of the Store port the stages use. */
export interface StageStore {
  get(key: string): Promise<Buffer>;
  put(key: string, body: Buffer | string): Promise<void>;
  putFile(key: string, path: string): Promise<void>;
  list(prefix: string): AsyncIterable<{ key: string }>;
}

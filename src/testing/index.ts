export { TestClient, TestResponse, extractCsrfToken } from "./client.js";
export type { TestClientOptions, TestRequestOptions } from "./client.js";

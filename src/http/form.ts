import type { Readable } from "node:stream";
import busboy from "busboy";
import { HTTPError } from "../app/errors.js";
import { tooLarge } from "./body.js";
import type { BodyLimits } from "./limits.js";

/** A file from a multipart form, held in memory. */
export interface UploadedFile {
  /** The file name the client sent; untrusted, never use it as a path. */
  readonly filename: string;
  /** The part's Content-Type as the client sent it; untrusted. */
  readonly contentType: string;
  readonly size: number;
  readonly data: Buffer;
}

/**
 * Parsed form fields and files. Text fields and files are kept apart, so `get` always
 * returns a string and a file can never stand in for a text field.
 */
export class Form {
  readonly #fields = new Map<string, string[]>();
  readonly #files = new Map<string, UploadedFile[]>();

  /** Returns the first value of a text field, or null when the form has none of that name. */
  get(name: string): string | null {
    return this.#fields.get(name)?.[0] ?? null;
  }

  getAll(name: string): string[] {
    return [...(this.#fields.get(name) ?? [])];
  }

  has(name: string): boolean {
    return this.#fields.has(name);
  }

  /** Returns the first uploaded file of a field, or null. */
  file(name: string): UploadedFile | null {
    return this.#files.get(name)?.[0] ?? null;
  }

  files(name: string): UploadedFile[] {
    return [...(this.#files.get(name) ?? [])];
  }

  /** Text fields as [name, value] pairs, in the order they were sent. */
  *entries(): IterableIterator<[string, string]> {
    for (const [name, values] of this.#fields) for (const value of values) yield [name, value];
  }

  /** Returns the first value of each text field as a null-prototype record. */
  toObject(): Record<string, string> {
    const record = Object.create(null) as Record<string, string>;
    for (const [name, values] of this.#fields) record[name] = values[0] as string;
    return record;
  }

  /** @internal */
  appendField(name: string, value: string): void {
    const values = this.#fields.get(name);
    if (values === undefined) this.#fields.set(name, [value]);
    else values.push(value);
  }

  /** @internal */
  appendFile(name: string, file: UploadedFile): void {
    const files = this.#files.get(name);
    if (files === undefined) this.#files.set(name, [file]);
    else files.push(file);
  }
}

/** Parses an `application/x-www-form-urlencoded` body, rejecting more than `limits.fields` fields. */
export function parseUrlencoded(body: Buffer, limits: Readonly<BodyLimits>): Form {
  const text = body.toString("utf8");
  let fields = text.length === 0 ? 0 : 1;
  for (let index = text.indexOf("&"); index !== -1; index = text.indexOf("&", index + 1)) {
    fields += 1;
    if (fields > limits.fields) throw tooLarge(`Form has more than ${String(limits.fields)} fields`);
  }
  const form = new Form();
  for (const [name, value] of new URLSearchParams(text)) form.appendField(name, value);
  return form;
}

/**
 * Parses a `multipart/form-data` body with busboy, holding files in memory. Every busboy
 * limit is set, and reaching any of them rejects the request with 413 instead of silently
 * truncating a field or a file. Busboy bounds each part's header block at 16 KiB itself and
 * rejects a longer one as malformed (400).
 */
export function parseMultipart(
  stream: Readable | null,
  contentType: string,
  limits: Readonly<BodyLimits>,
): Promise<Form> {
  if (stream === null) return Promise.reject(new HTTPError(400, "Multipart form has no body"));
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { "content-type": contentType },
      limits: {
        fieldSize: limits.fieldBytes,
        fields: limits.fields,
        fileSize: limits.fileBytes,
        files: limits.files,
        parts: limits.parts,
      },
    });
  } catch (error) {
    return Promise.reject(new HTTPError(400, "Invalid multipart Content-Type", { cause: error }));
  }

  return new Promise((resolve, reject) => {
    const form = new Form();
    let received = 0;
    let settled = false;

    function fail(error: HTTPError): void {
      if (settled) return;
      settled = true;
      stream?.unpipe(parser);
      stream?.off("data", countBytes);
      stream?.resume();
      reject(error);
    }
    function countBytes(chunk: Buffer): void {
      received += chunk.length;
      if (received > limits.multipartBytes)
        fail(tooLarge(`Multipart body is larger than ${String(limits.multipartBytes)} bytes`));
    }

    parser.on("field", (name, value, info) => {
      if (info.nameTruncated || info.valueTruncated) {
        fail(tooLarge(`Form field is larger than ${String(limits.fieldBytes)} bytes`));
        return;
      }
      form.appendField(name, value);
    });
    parser.on("file", (name, file, info) => {
      const chunks: Buffer[] = [];
      let size = 0;
      file.on("data", (chunk: Buffer) => {
        size += chunk.length;
        chunks.push(chunk);
      });
      file.on("limit", () => {
        fail(tooLarge(`Uploaded file is larger than ${String(limits.fileBytes)} bytes`));
      });
      file.on("end", () => {
        if (settled) return;
        form.appendFile(name, {
          filename: info.filename ?? "",
          contentType: info.mimeType,
          size,
          data: Buffer.concat(chunks, size),
        });
      });
    });
    parser.on("partsLimit", () => {
      fail(tooLarge(`Multipart body has more than ${String(limits.parts)} parts`));
    });
    parser.on("filesLimit", () => {
      fail(tooLarge(`Multipart body has more than ${String(limits.files)} files`));
    });
    parser.on("fieldsLimit", () => {
      fail(tooLarge(`Form has more than ${String(limits.fields)} fields`));
    });
    parser.on("error", (error: Error) => {
      fail(new HTTPError(400, "Malformed multipart body", { cause: error }));
    });
    parser.on("close", () => {
      if (settled) return;
      settled = true;
      resolve(form);
    });
    stream.on("error", (error: Error) => {
      fail(new HTTPError(400, "Request body could not be read", { cause: error }));
    });

    stream.on("data", countBytes);
    stream.pipe(parser);
  });
}

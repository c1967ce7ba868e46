import { fileURLToPath } from "node:url";

/** Folder of the benchmark templates, where `page.html` extends `layout.html`. */
export const TEMPLATE_DIRECTORY = fileURLToPath(new URL("templates/", import.meta.url));

export const PAGE_TEMPLATE = "page.html";

export interface PageItem {
  readonly name: string;
  readonly price: string;
}

// Ten items whose names need escaping, so autoescaping does real work on every render.
const ITEMS: readonly PageItem[] = Array.from({ length: 10 }, (_, index) => ({
  name: index === 9 ? "<script>alert(1)</script>" : `Item ${index + 1} <small> & "quoted"`,
  price: (index * 1.25 + 3).toFixed(2),
}));

/** Builds the context of one page render. Both template servers call it once per request. */
export function pageContext(): { title: string; items: readonly PageItem[] } {
  return { title: "Benchmark <page>", items: ITEMS };
}

/** Text that a correctly rendered and escaped page contains. */
export const PAGE_EXPECTED: readonly string[] = [
  "<title>Benchmark &lt;page&gt;</title>",
  "<h1>Benchmark &lt;page&gt;</h1>",
  "<footer>bengal-chirp benchmark layout</footer>",
  '<li id="item-1">Item 1 &lt;small&gt; &amp; &quot;quoted&quot;: 3.00</li>',
  '<li id="item-9">Item 9 &lt;small&gt; &amp; &quot;quoted&quot;: 13.00</li>',
  '<li id="item-10">&lt;script&gt;alert(1)&lt;/script&gt;: 14.25</li>',
];

/** Text that only an unescaped render would contain. */
export const PAGE_FORBIDDEN: readonly string[] = ["<script>", "<small>", "<page>"];

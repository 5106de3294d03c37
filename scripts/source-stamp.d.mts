/** What dist/ was built from (see source-stamp.mjs). */
export function sourceStamp(root: URL): string;

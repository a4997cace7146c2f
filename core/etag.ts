/** S3 quotes ETags in headers but not in its events; Ferry keeps them bare and quotes them for If-Match. */
export const unquotedEtag = (etag: string): string => etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');

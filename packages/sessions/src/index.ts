/**
 * @cachekit/sessions: sessions on Redis that are safe under races, tampering and outages.
 */
export {}

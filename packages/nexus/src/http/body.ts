/** The request body reader Nexus uses: the one in `@spike-ts/http`, shared with the keeper. */
export { BodyReadError, BodyTooLargeError, readBody } from '@spike-ts/http';

/** kafkajs' table of broker error codes (src/protocol/error.js), which its own types do not describe. */
declare module 'kafkajs/src/protocol/error.js' {
  const errors: {
    errorCodes: { type: string; code: number; retriable: boolean; message: string }[];
  };
  export default errors;
}

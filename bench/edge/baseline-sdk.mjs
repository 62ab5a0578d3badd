// Benchmark baseline: the consume done with the AWS SDK v3 DynamoDB client
// instead of the request the core builds and signs. Same UpdateItem (the
// core's own request body is the SDK input: the JSON protocol shapes are the
// same), the SDK's signer, parser and retry logic. For cold-start, size and
// latency comparison only.

import { DynamoDBClient, UpdateItemCommand, ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

/** A consume function over the SDK: op -> StoreReply. */
export function createSdkConsumer({ endpoint, region, credentials }) {
  const client = new DynamoDBClient({ region, endpoint, credentials, maxAttempts: 3 });
  return {
    client,
    /** `input` is the UpdateItem input (the core's request body, parsed). */
    async consume(input, fp) {
      try {
        const out = await client.send(new UpdateItemCommand(input));
        return { reply: 'counted', used: Number(out.Attributes.used.N) };
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException && err.Item) {
          const item = err.Item;
          return {
            reply: 'not_counted',
            used: Number(item.used?.N ?? 0),
            revoked: item.revoked?.BOOL ?? false,
            // The fingerprint's slot (docs/stores.md) holds its use only if it holds it.
            last_use: item[`s_${fp.slice(0, 2)}`]?.M?.f?.S === fp ? Number(item[`s_${fp.slice(0, 2)}`].M.t.N) : null,
          };
        }
        return { reply: 'unavailable' };
      }
    },
  };
}

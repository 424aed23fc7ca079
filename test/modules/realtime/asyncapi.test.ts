import { DiagnosticSeverity, Parser, type AsyncAPIDocumentInterface, type Diagnostic, type OperationInterface } from '@asyncapi/parser';
import type { TSchema } from '@sinclair/typebox';
import { ACK_RESULTS, CLIENT_FRAMES, CloseCode, SERVER_FRAMES } from '../../../src/contract';
import { serverMessageName } from '../../../src/contract/asyncapi';
import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';

/**
 * The server publishes its `/ws` protocol as AsyncAPI 3 at `/asyncapi.json`: a document the AsyncAPI
 * parser accepts, with every frame of the contract as a message whose payload is that frame's schema.
 */
type Json = Record<string, any>;

/** What the schema is on the wire: TypeBox's Symbol keys are no part of it. */
const asJson = (schema: TSchema): Json => JSON.parse(JSON.stringify(schema)) as Json;
const sorted = (names: Iterable<string>) => [...names].sort();
const describeDiagnostic = (d: Diagnostic) => `${d.code}: ${d.message} at ${d.path.join('.')}`;

describe.each(testDatabases().slice(0, 1))('AsyncAPI document of /ws (on $name)', (db) => {
  let server: TestServer;
  let raw: Json;
  let document: AsyncAPIDocumentInterface;

  beforeAll(async () => {
    server = await startServer(db);
    const response = await fetch(`${server.url}/asyncapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await response.text();
    raw = JSON.parse(text) as Json;
    const parsed = await new Parser().parse(text);
    const errors = parsed.diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).map(describeDiagnostic);
    expect(errors).toEqual([]);
    if (!parsed.document) throw new Error('the parser returned no document');
    document = parsed.document;
  });
  afterAll(() => server.close());

  it('is AsyncAPI 3.0.0, pointing at the server that served it', () => {
    expect(document.version()).toBe('3.0.0');
    const [scancode] = document.servers().all();
    expect(scancode.protocol()).toBe('ws');
    expect(scancode.host()).toBe(new URL(server.url).host);
    expect(
      document
        .channels()
        .all()
        .map((channel) => channel.address()),
    ).toEqual(['/ws']);
  });

  it('sends every client frame and receives every server frame, one operation each', () => {
    const messagesOf = (operations: OperationInterface[]) =>
      sorted(
        operations.flatMap((operation) =>
          operation
            .messages()
            .all()
            .map((message) => message.id()),
        ),
      );
    expect(messagesOf(document.operations().filterBySend())).toEqual(sorted(Object.keys(CLIENT_FRAMES)));
    // A push named like a request (`count`) is the message `countPush`.
    expect(messagesOf(document.operations().filterByReceive())).toEqual(sorted(Object.keys(SERVER_FRAMES).map(serverMessageName)));
  });

  it("has each frame's schema from the contract as its message's payload, exactly", () => {
    const messages = raw.channels.ws.messages as Json;
    const frames = { ...CLIENT_FRAMES, ...Object.fromEntries(Object.entries(SERVER_FRAMES).map(([key, schema]) => [serverMessageName(key), schema])) };
    expect(sorted(Object.keys(messages))).toEqual(sorted(Object.keys(frames)));
    for (const [name, schema] of Object.entries(frames)) {
      expect({ name, payload: messages[name].payload.schema }).toEqual({ name, payload: asJson(schema) });
    }
  });

  it('says which ack answers each request, with the result of its type', () => {
    for (const [type, result] of Object.entries(ACK_RESULTS)) {
      const operation = document
        .operations()
        .all()
        .find((candidate) =>
          candidate
            .messages()
            .all()
            .some((message) => message.id() === type),
        );
      expect(
        sorted(
          operation
            ?.reply()
            ?.messages()
            .all()
            .map((message) => message.id()) ?? [],
        ),
      ).toEqual(['ackError', 'ackOk']);
      expect(operation?.extensions().get('x-ack-result')?.value()).toEqual(asJson(result));
    }
  });

  it('explains authentication and every close code', () => {
    const description = document.info().description() ?? '';
    expect(description).toContain('Authorization: Bearer');
    expect(description).toContain('within 10 s');
    for (const code of Object.values(CloseCode)) expect(description).toContain(`| ${code} |`);
    expect(
      document
        .securitySchemes()
        .all()
        .map((scheme) => scheme.type()),
    ).toEqual(['http']);
  });
});

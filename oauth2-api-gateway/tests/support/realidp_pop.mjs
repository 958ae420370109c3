// panva's oidc-provider with sender-constrained and opaque tokens switched on, for the
// gateway's end-to-end tests (tests/realidp_pop.rs). Plain HTTP on 127.0.0.1, PORT from the
// environment, keys from ./keys/jwks.json (made by keys.mjs, as for start.mjs).
//
// Clients (client_credentials):
//   dpop-client / dpop-secret      JWT access tokens, bound to the DPoP key of the token request
//   mtls-client / mtls-secret      JWT access tokens bound to the client certificate
//                                  (tls_client_certificate_bound_access_tokens), read from the
//                                  `x-client-cert` header (a URL-encoded PEM): no TLS here
//   opaque-client / opaque-secret  opaque access tokens (resource $RESOURCE/opaque)
//   resource-server / rs-secret    the API's own credentials, for introspection only
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const PORT = Number(process.env.PORT || 3000);
const ISSUER = `http://127.0.0.1:${PORT}`;
const RESOURCE = 'https://api.realidp.test';
const jwks = JSON.parse(readFileSync(new URL('./keys/jwks.json', import.meta.url), 'utf8'));

const client = (id, secret, extra = {}) => ({
  client_id: id,
  client_secret: secret,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  ...extra,
});

const provider = new Provider(ISSUER, {
  jwks,
  clients: [
    client('dpop-client', 'dpop-secret'),
    client('mtls-client', 'mtls-secret', { tls_client_certificate_bound_access_tokens: true }),
    client('opaque-client', 'opaque-secret'),
    { ...client('resource-server', 'rs-secret'), grant_types: [] },
  ],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    dPoP: { enabled: true },
    mTLS: {
      enabled: true,
      certificateBoundAccessTokens: true,
      getCertificate(ctx) {
        const value = ctx.get('x-client-cert');
        return value ? decodeURIComponent(value) : undefined;
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, indicator) => ({
        scope: 'api:read',
        audience: RESOURCE,
        accessTokenTTL: 300,
        accessTokenFormat: indicator === `${RESOURCE}/opaque` ? 'opaque' : 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  cookies: { keys: ['realidp-pop-test-cookie-key-not-secret'] },
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const server = createServer(provider.callback());
server.listen(PORT, '127.0.0.1', () => {
  console.log(`[idp] oidc-provider (DPoP, mTLS, introspection) on ${ISSUER}`);
  console.log(`[idp] keys: ${jwks.keys.map((k) => k.kid).join(', ')}`);
});
for (const s of ['SIGINT', 'SIGTERM']) {
  process.on(s, () => { server.close(() => process.exit(0)); server.closeAllConnections(); });
}

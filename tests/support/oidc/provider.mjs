// A real OpenID provider for aigate's SSO tests: oidc-provider (OpenID Certified) with its development
// login and consent forms (any login name signs in; the name is the account id and, when it holds an
// "@", its email). Groups per account come from the JSON file --accounts names ({"ann@corp": {"groups":
// [...], "email_verified": true}}), read at every sign-in so a test can change them between sign-ins.
//
//   node provider.mjs --port P --client-id ID --client-secret S --redirect-uri URI --accounts FILE
//
// Prints "ready ISSUER" on stdout once it listens on 127.0.0.1:P.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    accounts: { type: 'string' },
  },
});

const issuer = `http://127.0.0.1:${args.port}`;

function accountData(id) {
  try {
    return JSON.parse(readFileSync(args.accounts, 'utf8'))[id] ?? {};
  } catch {
    return {};
  }
}

const provider = new Provider(issuer, {
  clients: [{
    client_id: args['client-id'],
    client_secret: args['client-secret'],
    redirect_uris: args['redirect-uri'],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  conformIdTokenClaims: false, // the claims of the granted scopes go into the ID token, groups included
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  cookies: { keys: ['aigate-test-only-cookie-key'] },
  async findAccount(ctx, id) {
    const data = accountData(id);
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: data.email ?? (id.includes('@') ? id : `${id}@corp.example`),
          email_verified: data.email_verified ?? true,
          name: id,
          ...(data.groups === undefined ? {} : { groups: data.groups }),
        };
      },
    };
  },
});
provider.proxy = false;

provider.listen(Number(args.port), '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));

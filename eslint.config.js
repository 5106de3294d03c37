// Type-aware lint: floating promises and misused promises are errors (an actor that forgets to
// await an append loses the guarantee that the effect was recorded).
import tseslint from 'typescript-eslint';

const DOMAIN = 'make it with src/nats/jetstream-domain.ts, which names the JetStream domain (natsDomain)';

export default tseslint.config(
  { ignores: ['node_modules/**', 'bench/results/**', '.implement-agent/**', 'dist/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'bin/*.js', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Effects provided to machines are promise-returning by contract, awaited or not.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Every JetStream context addresses the connection's domain (config natsDomain): made in one file.
    files: ['src/**/*.ts'],
    ignores: ['src/nats/jetstream-domain.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: '@nats-io/jetstream', importNames: ['jetstream', 'jetstreamManager'], message: DOMAIN },
            { name: '@nats-io/kv', importNames: ['Kvm'], message: DOMAIN },
            { name: '@nats-io/obj', importNames: ['Objm'], message: DOMAIN },
          ],
        },
      ],
    },
  },
  {
    // Vitest's asymmetric matchers (expect.stringMatching...) are typed any.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
);

/**
 * The operator config of the end-to-end test and the bench's lifecycle
 * process: one `default` template whose step gives the environment a URL
 * naming the PR and the sha, and runs again on every push. `moreTemplates`
 * is YAML indented as entries of `templates:`.
 */
export function deployOnEveryPushConfig(moreTemplates = ""): string {
  return `
templates:
  default:
    ttl: 4h
    maxTtl: 2d
    steps:
      - name: deploy
        run: echo "url=http://127.0.0.1:9/pr-$EPHEMERA_PR-$EPHEMERA_SHA" >> "$EPHEMERA_OUTPUT"
        onUpdate: true${moreTemplates}
`;
}

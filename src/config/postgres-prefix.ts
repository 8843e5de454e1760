/**
 * The postgres provider's name prefix (EPHEMERA_POSTGRES_PREFIX): the env
 * reader validates it and the provider builds its names from it. Here, in
 * config, so reading the environment loads no driver.
 *
 * Lower-case, so names need no case folding; ending in `_`, so no prefix can
 * parse another prefix's names (`eph_` never reads `eph_7_12_pr3`); at most
 * 24 characters, so a name with two 16-digit ids still fits PostgreSQL's 63.
 */
export const POSTGRES_PREFIX_PATTERN = /^[a-z][a-z0-9_]{0,22}_$/;
export const DEFAULT_POSTGRES_PREFIX = "eph_";

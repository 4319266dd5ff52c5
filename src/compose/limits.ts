/**
 * How large a project may grow beyond its files. YAML aliases, variables, `env_file` and
 * `extends` all repeat text, so a file of a few kilobytes could otherwise expand to gigabytes of
 * memory and of `config` output (docker-compose 1.29.2 still had no output after five minutes and
 * 1.1 GB on 8,200 aliases of a 64 KiB string). Real projects are well under a megabyte; `config`
 * prints 30 MiB in about two seconds.
 */
export const MAX_EXPANDED_BYTES = 32 * 1024 * 1024;

/** "more than 32 MiB", for messages. */
export const EXPANDED_LIMIT_TEXT = `more than ${MAX_EXPANDED_BYTES / (1024 * 1024)} MiB`;

/** `include` nests at most this deep, and brings in at most MAX_INCLUDED_FILES files in all. */
export const MAX_INCLUDE_DEPTH = 32;
export const MAX_INCLUDED_FILES = 1000;

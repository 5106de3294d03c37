/** The names of files the tool reads or writes in a user's folders: one place, for every layer. */

/** The project's configuration, read from the working directory. */
export const CONFIG_FILE = 'implement-agent.config.json';
/** A cluster's users and their rights, written by `cluster init` beside its credentials. */
export const AUTH_CONF_FILE = 'auth.conf';

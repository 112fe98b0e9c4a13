/*
 * login.h - the `qlikfs login` subcommand.
 */
#ifndef QLIKFS_LOGIN_H
#define QLIKFS_LOGIN_H

/* argv[1] is "login".  Returns the process exit status. */
int login_main(int argc, char *argv[]);

#endif

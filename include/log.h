/* SPDX-License-Identifier: MIT */
/* log.h - agentbox log: the audit log for people. */
#ifndef AB_LOG_H
#define AB_LOG_H

int ab_log_main(int argc, char *argv[]);

#endif /* AB_LOG_H */

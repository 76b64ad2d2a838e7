/* SPDX-License-Identifier: MIT */
/* jsonw.h - a JSON writer into a fixed buffer, for the audit log's hot
 * event (one per relayed request): no allocation, no hash table. */
#ifndef AB_JSONW_H
#define AB_JSONW_H

#include <stdbool.h>
#include <stddef.h>

#define AB_JW_DEPTH	8

struct ab_jw {
	char *buf;
	size_t len, cap;
	bool full;			/* it did not fit: the text is unusable */
	int depth;
	bool first[AB_JW_DEPTH];	/* no member written yet at this depth */
};

void ab_jw_init(struct ab_jw *w, char *buf, size_t cap);
void ab_jw_open(struct ab_jw *w, const char *key);
void ab_jw_close(struct ab_jw *w);
void ab_jw_str(struct ab_jw *w, const char *key, const char *v);
void ab_jw_int(struct ab_jw *w, const char *key, long long v);
void ab_jw_list1(struct ab_jw *w, const char *key, const char *v);
void ab_jw_strv(struct ab_jw *w, const char *key, const char *v, size_t len);
bool ab_jw_done(struct ab_jw *w);

#endif /* AB_JSONW_H */

// SPDX-License-Identifier: MIT
/* test_pem.c - the ca_bundle check: certificates only (src/sandbox/pem.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cabundle.h"

#define CERT(b) "-----BEGIN CERTIFICATE-----\n" b "\n-----END CERTIFICATE-----\n"

static int certs(const char *pem, char *why)
{
	return ab_pem_certs(pem, strlen(pem), why, 160);
}

static void certificates_counted(void **state)
{
	char why[160];

	assert_int_equal(certs(CERT("MIIBszCCAVmgAwIBAgIU\nAbC+/9=="), why), 1);
	assert_int_equal(certs("subject=CN = x\n" CERT("QUJD") "text\r\n"
			       CERT("REVG"), why), 2);
	assert_int_equal(certs("-----BEGIN TRUSTED CERTIFICATE-----\r\nQUJD\r\n"
			       "-----END TRUSTED CERTIFICATE-----\r\n", why), 1);
}

static void refused(const char *pem, const char *want)
{
	char why[160] = "";

	assert_int_equal(ab_pem_certs(pem, strlen(pem), why, sizeof(why)), -1);
	if (!strstr(why, want))
		fail_msg("'%s' lacks '%s'", why, want);
}

static void others_refused(void **state)
{
	refused(CERT("QUJD") "-----BEGIN PRIVATE KEY-----\nQUJD\n"
		"-----END PRIVATE KEY-----\n", "line 4: a private key");
	refused("-----BEGIN RSA PRIVATE KEY-----\nQUJD\n", "private key");
	refused("-----BEGIN X509 CRL-----\nQUJD\n-----END X509 CRL-----\n",
		"a X509 CRL block");
	refused("-----BEGIN CERTIFICATE-----\nQU JD\n-----END CERTIFICATE-----\n",
		"line 2: not base64");
	refused("-----BEGIN CERTIFICATE-----\nQUJD\n", "not closed");
	refused("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
		"END does not close");
	refused("-----BEGIN CERTIFICATE-----\nQUJD\n-----END TRUSTED CERTIFICATE-----\n",
		"line 3: END does not close the certificate of line 1");
	refused("just text\n", "no PEM certificate");
	refused("", "no PEM certificate");
	assert_int_equal(ab_pem_certs(CERT("QUJD"), sizeof(CERT("QUJD")),
				      (char[160]){ 0 }, 160), -1);	/* NUL */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(certificates_counted),
		cmocka_unit_test(others_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

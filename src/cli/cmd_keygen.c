/*
 * cmd_keygen.c - `aecs keygen --out NAME`: an admin key pair (ECDSA P-256)
 * written as NAME.pem (private, mode 0600) and NAME.pub.pem, with its key id
 * (crypto/sigkey.h). Existing files are never replaced.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "cli/cli.h"
#include "crypto/sigkey.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: aecs keygen --out NAME\n\n"
            "Makes an admin key pair, ECDSA P-256, for signing requests to aecsd:\n"
            "  NAME.pem      the private key (PKCS#8 PEM, mode 0600): keep it secret\n"
            "  NAME.pub.pem  the public key (SubjectPublicKeyInfo PEM): what aecsd registers\n"
            "and prints the key id (the SHA-256 of the public key, 64 hex digits) that\n"
            "aecsd's logs and `aecs admin service list` show. Existing files are never\n"
            "replaced.\n\n"
            "  --out NAME  where to write (NAME.pem and NAME.pub.pem)\n"
            "  -h, --help  this help\n\n"
            "The first key becomes the cluster admin with `aecs admin init`; a service's\n"
            "admin key is registered with `aecs admin service register --pubkey NAME.pub.pem`.\n");
}

int cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL;
    char id[AECS_SIGKEY_ID_HEX + 1];
    int c;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "aecs: keygen takes no arguments besides options ('%.60s')\n",
                argv[optind]);
        return EXIT_USAGE;
    }
    if (out == NULL || out[0] == '\0') {
        fprintf(stderr, "aecs: keygen needs --out NAME (writes NAME.pem and NAME.pub.pem)\n");
        return EXIT_USAGE;
    }
    if (aecs_sigkey_generate_files(out, id) != AECS_OK) {
        cli_report_error(NULL);
        return EXIT_USAGE;
    }
    printf("%s.pem: private key (mode 0600): keep it secret\n", out);
    printf("%s.pub.pem: public key\n", out);
    printf("key id: %s\n", id);
    return EXIT_OK;
}

/* kiln audit keygen --out PREFIX
 * kiln audit verify LOG... [--key PUB]...
 *
 * keygen writes an Ed25519 key pair for signing audit checkpoints: PREFIX.key
 * (secret, mode 0600) and PREFIX.pub. verify checks a log: with one LOG,
 * its rotated segments LOG.0, LOG.1, ... are found and checked first, in
 * order; with several, they are taken as the segments in order. Exit
 * status: 0 OK, 1 tampered or unreadable, 2 wrong command line, 4 the last
 * record is torn (a crash while writing), 5 no closing checkpoint (truncated,
 * or the writer is still running or crashed). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "govern/audit.h"
#include "util/fail.h"

/* Exit statuses of kiln audit verify beyond those in cli.h. */
enum { AUDIT_EXIT_TORN = 4, AUDIT_EXIT_UNCLOSED = 5 };

/* Most --key options. */
#define AUDIT_CLI_KEYS_MAX 16

static const char keygen_usage[] =
    "usage: kiln audit keygen --out PREFIX\n"
    "  writes PREFIX.key (the secret key, mode 0600) and PREFIX.pub (the public key,\n"
    "  64 hex digits) for signing audit checkpoints; refuses to overwrite either\n";
static const char verify_usage[] =
    "usage: kiln audit verify LOG... [--key PUB]...\n"
    "  checks the hash chain, sequence numbers and checkpoints of an audit log. One LOG:\n"
    "  its rotated segments LOG.0, LOG.1, ... are checked first. With --key, every\n"
    "  checkpoint must carry a valid signature by one of the keys.\n"
    "  exit status: 0 OK, 1 tampered or unreadable, 2 wrong command line,\n"
    "  4 torn last record (crash while writing), 5 no closing checkpoint\n";

static int keygen(int argc, char **argv)
{
    static const struct option options[] = { { "out", required_argument, NULL, 'o' },
                                             { "help", no_argument, NULL, 'h' },
                                             { NULL, 0, NULL, 0 } };
    const char *prefix = NULL;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "o:h", options, NULL)) != -1;) {
        if (c == 'o')
            prefix = optarg;
        else {
            fputs(keygen_usage, c == 'h' ? stdout : stderr);
            return c == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        }
    }
    if (!prefix || optind != argc) {
        fputs(keygen_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    audit_secret_key key;
    kiln_status st = audit_key_generate(&key);
    if (st == KILN_OK)
        st = audit_key_save(&key, prefix);
    if (st != KILN_OK) {
        fprintf(stderr, "kiln: audit keygen: %s\n", util_last_error());
        audit_key_wipe(&key);
        return CLI_EXIT_FAILURE;
    }
    printf("wrote %s.key (secret, mode 0600) and %s.pub; key id %s\n", prefix, prefix,
           key.pub.id);
    audit_key_wipe(&key);
    return CLI_EXIT_OK;
}

static void print_ok(const audit_verify_result *r, size_t key_count)
{
    printf("OK: %llu records in %llu segment(s), %llu checkpoints; ",
           (unsigned long long)r->records, (unsigned long long)r->segments,
           (unsigned long long)r->checkpoints);
    if (!r->is_signed)
        printf("unsigned (hash chain only: proves no accidental damage, not who wrote it)\n");
    else if (key_count == 0)
        printf("signed, but signatures NOT checked (no --key given)\n");
    else
        printf("%llu signatures verified\n", (unsigned long long)r->signatures);
    if (r->unclean_reopens)
        printf("note: %llu reopen(s) after a crash or a torn write (log.open \"after\")\n",
               (unsigned long long)r->unclean_reopens);
}

static int report(const audit_verify_result *r, size_t key_count)
{
    switch (r->verdict) {
    case AUDIT_VERIFY_OK:
        print_ok(r, key_count);
        return CLI_EXIT_OK;
    case AUDIT_VERIFY_TORN:
        printf("TORN: %s:%llu: %s\n", r->file, (unsigned long long)r->line, r->message);
        return AUDIT_EXIT_TORN;
    case AUDIT_VERIFY_UNCLOSED:
        printf("UNCLOSED: %s:%llu: %s (%llu records verify)\n", r->file,
               (unsigned long long)r->line, r->message, (unsigned long long)r->records);
        return AUDIT_EXIT_UNCLOSED;
    default:
        printf("FAIL: %s:%llu (seq %llu): %s: %s\n", r->file, (unsigned long long)r->line,
               (unsigned long long)r->seq, audit_verdict_name(r->verdict), r->message);
        return CLI_EXIT_FAILURE;
    }
}

static int verify(int argc, char **argv)
{
    static const struct option options[] = { { "key", required_argument, NULL, 'k' },
                                             { "help", no_argument, NULL, 'h' },
                                             { NULL, 0, NULL, 0 } };
    audit_public_key keys[AUDIT_CLI_KEYS_MAX];
    size_t key_count = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "k:h", options, NULL)) != -1;) {
        if (c == 'k' && key_count < AUDIT_CLI_KEYS_MAX) {
            if (audit_key_load_public(optarg, &keys[key_count]) != KILN_OK) {
                fprintf(stderr, "kiln: audit verify: %s\n", util_last_error());
                return CLI_EXIT_FAILURE;
            }
            key_count++;
        } else {
            fputs(verify_usage, c == 'h' ? stdout : stderr);
            return c == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        }
    }
    if (optind == argc) {
        fputs(verify_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    char **found = NULL;
    const char *const *paths = (const char *const *)argv + optind;
    size_t count = (size_t)(argc - optind);
    if (count == 1) {
        if (audit_segments(argv[optind], &found, &count) != KILN_OK) {
            fprintf(stderr, "kiln: audit verify: %s\n", util_last_error());
            return CLI_EXIT_FAILURE;
        }
        paths = (const char *const *)found;
    }
    audit_verify_result r;
    kiln_status st = audit_verify_files(paths, count, keys, key_count, &r);
    free(found);
    if (st != KILN_OK && r.verdict != AUDIT_VERIFY_IO) {
        fprintf(stderr, "kiln: audit verify: %s\n", util_last_error());
        return CLI_EXIT_FAILURE;
    }
    return report(&r, key_count);
}

int cmd_audit(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
        return keygen(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "verify") == 0)
        return verify(argc - 1, argv + 1);
    bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    fprintf(help ? stdout : stderr, "%s\n%s", keygen_usage, verify_usage);
    return help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

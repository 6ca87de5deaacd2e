/* HTTP client benchmark, libcurl's side: the multi interface with N easy handles fetching one
 * URL over kept-alive connections for a fixed time. Prints the same JSON line as
 * client_fetch. Built by bench/client_bench.py (cc -O2 ... -lcurl) when libcurl's headers are
 * installed (Debian: libcurl4-openssl-dev).
 *
 *   client_curl_multi URL CONCURRENCY SECONDS
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

static unsigned long long body_bytes;

static size_t discard(char *data, size_t size, size_t count, void *user) {
    (void)data;
    (void)user;
    body_bytes += size * count;
    return size * count;
}

static CURL *make_handle(const char *url) {
    CURL *easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "gzip");
    return easy;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: client_curl_multi URL CONCURRENCY SECONDS\n");
        return 2;
    }
    const char *url = argv[1];
    int concurrency = atoi(argv[2]);
    double seconds = atof(argv[3]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)concurrency);
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)concurrency);

    /* Connect once before the clock starts, like client_fetch. */
    CURL *first = make_handle(url);
    curl_multi_add_handle(multi, first);
    int running = 1;
    while (running) {
        curl_multi_perform(multi, &running);
        if (running) {
            curl_multi_poll(multi, NULL, 0, 1000, NULL);
        }
    }
    CURLMsg *message;
    int left;
    while ((message = curl_multi_info_read(multi, &left)) != NULL) {
    }
    curl_multi_remove_handle(multi, first);
    curl_easy_cleanup(first);

    unsigned long long requests = 0, errors = 0;
    double cpu_before = cpu_seconds();
    double started = now();
    double deadline = started + seconds;
    for (int i = 0; i < concurrency; ++i) {
        curl_multi_add_handle(multi, make_handle(url));
    }
    int active = concurrency; /* handles in the multi, running or about to */
    int stopping = 0;
    while (active > 0) {
        curl_multi_perform(multi, &running);
        while ((message = curl_multi_info_read(multi, &left)) != NULL) {
            if (message->msg != CURLMSG_DONE) {
                continue;
            }
            CURL *easy = message->easy_handle;
            long code = 0;
            curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
            if (message->data.result == CURLE_OK && code == 200) {
                ++requests;
            } else if (++errors == 1) {
                fprintf(stderr, "client_curl_multi: %s (%ld)\n",
                        curl_easy_strerror(message->data.result), code);
            }
            curl_multi_remove_handle(multi, easy);
            if (!stopping && now() < deadline) {
                curl_multi_add_handle(multi, easy); /* again, on a kept-alive connection */
            } else {
                stopping = 1;
                --active;
                curl_easy_cleanup(easy);
            }
        }
        if (active > 0) {
            curl_multi_poll(multi, NULL, 0, 1000, NULL);
        }
    }
    double elapsed = now() - started;
    double cpu = cpu_seconds() - cpu_before;
    printf("{\"requests\": %llu, \"seconds\": %.3f, \"cpu_seconds\": %.3f, \"errors\": %llu, "
           "\"bytes\": %llu}\n",
           requests, elapsed, cpu, errors, body_bytes);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return 0;
}

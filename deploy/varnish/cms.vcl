# Varnish (7.1+, varnish-modules' xkey) in front of `cms serve` (delivery.md, "HTTP caching").
# Run: varnishd -a :80 -f deploy/varnish/cms.vcl -s malloc,256m; set the app's CMS_PURGE_URL to this
# Varnish (http://<varnish>/) so that every committed write purges the answers it made stale.
vcl 4.1;

import std;
import xkey;

backend cms {
    .host = "127.0.0.1";
    .port = "8000";
}

# Who may purge: the app's processes. Add their addresses when they do not run on this host.
acl purgers {
    "127.0.0.0"/8;
    "::1";
}

sub vcl_recv {
    if (req.method == "PURGE") {
        # Anyone able to purge could empty the cache and send every reader to the database.
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        # The app names the keys in one space-separated header (cms/content/purges.py).
        if (!req.http.xkey-purge) {
            return (synth(400, "No xkey-purge header"));
        }
        set req.http.n-gone = xkey.purge(req.http.xkey-purge);
        return (synth(200, "Invalidated " + req.http.n-gone + " objects"));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);  # mutations, and POSTed queries: their bodies are not part of the cache key
    }
    if (req.http.Authorization) {
        return (pass);  # a token's answers are private, no-store: never kept, never shared
    }
    # Tokens never travel in cookies, so a cookie changes no answer: do not let it defeat the cache.
    unset req.http.Cookie;
    # Nor does the order of the GET parameters (query, variables, ...): one object for all orders.
    set req.url = std.querysort(req.url);
    # On to the built-in vcl_recv, which hashes URL and Host.
}

sub vcl_backend_response {
    # xkey indexes the `xkey` header; the app says Surrogate-Key, as CDNs read it. The TTL and grace are
    # Varnish's own reading of s-maxage and stale-while-revalidate, which the app caps at the next
    # scheduled publication: nothing to override here.
    if (beresp.http.Surrogate-Key) {
        set beresp.http.xkey = beresp.http.Surrogate-Key;
    }
}

sub vcl_synth {
    # A purger reads the count, not an HTML error page.
    if (req.method == "PURGE") {
        set resp.http.Content-Type = "text/plain; charset=utf-8";
        set resp.body = resp.reason;
        return (deliver);
    }
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    unset resp.http.xkey;  # Surrogate-Key stays, for a CDN in front of this Varnish
}

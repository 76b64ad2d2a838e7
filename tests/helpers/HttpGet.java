// HttpGet.java - GET a URL with java.net.http.HttpClient, no proxy
// properties, and print the body: a JVM client that knows nothing of
// agentbox.  Run as "java HttpGet.java URL".  Used by intercept.bats.
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

public class HttpGet {
    public static void main(String[] args) throws Exception {
        HttpClient c = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(20)).build();
        HttpRequest q = HttpRequest.newBuilder(URI.create(args[0]))
            .timeout(Duration.ofSeconds(20)).build();
        System.out.print(c.send(q, HttpResponse.BodyHandlers.ofString()).body());
    }
}

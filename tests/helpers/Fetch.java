// Fetch.java - GET a URL with the JDK's HttpURLConnection and print the
// body: what a JVM build tool does.  Run as "java Fetch.java URL" (the
// single-file launcher, no build step).  Used by tools.bats.
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URL;

public class Fetch {
    public static void main(String[] args) throws Exception {
        HttpURLConnection c = (HttpURLConnection) new URL(args[0]).openConnection();
        c.setConnectTimeout(20000);
        c.setReadTimeout(20000);
        try (InputStream in = c.getInputStream()) {
            System.out.print(new String(in.readAllBytes(), "UTF-8"));
        }
    }
}

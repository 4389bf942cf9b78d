/*
 * DebeziumPeer — the Debezium side of `make bench` (bench/run.sh).
 *
 * Runs Debezium's embedded engine with the connector configuration in a
 * properties file, renders every change event as JSON (Kafka Connect's
 * JsonConverter without schemas, the same envelope sluice's blackhole sink
 * renders with `render: true`), counts the data events and exits as soon as
 * the expected number has been seen. Optionally sends each rendered event to
 * Kafka (key and value, like Debezium Server's Kafka sink).
 *
 * Usage: java -cp target/classes:target/lib/* io.sluice.bench.DebeziumPeer \
 *            PROPERTIES EXPECTED_EVENTS [KAFKA_BOOTSTRAP TOPIC_PREFIX]
 *
 * Keys of PROPERTIES starting with "peer." are the driver's own:
 *   peer.timeout.s       give up (exit 3) after this many seconds (default 1800)
 *   peer.seed.partition  with peer.seed.offset: a source partition and offset
 *   peer.seed.offset     (both JSON) written to the file offset store before
 *                        the engine starts, so streaming begins at a given
 *                        binlog position / LSN
 *   peer.output          a file that gets every record of the data topics
 *                        (tombstones included) as one JSON line
 *                        {"topic", "key", "value", "headers"}: key, value and
 *                        each header as the JSON converter rendered them, so
 *                        the compatibility suite (tests/compat) can diff
 *                        them field by field with sluice's Kafka records;
 *                        the schema-change topic (named by topic.prefix,
 *                        include.schema.changes) is written too, but its
 *                        records are not counted as events
 * Every other key goes to the engine unchanged.
 *
 * Prints one line to stderr: events, rendered bytes, seconds from start to
 * the first and to the last event. The process exits right after the last
 * event, without waiting for the engine to shut down.
 */
package io.sluice.bench;

import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.format.Json;

import io.debezium.engine.Header;
import io.debezium.engine.format.KeyValueHeaderChangeEventFormat;

import java.io.BufferedWriter;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

public final class DebeziumPeer {
    private DebeziumPeer() {
    }

    private static final long START_NS = System.nanoTime();

    private static double since(long ns) {
        return (ns - START_NS) / 1e9;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2 && args.length != 4) {
            System.err.println("usage: DebeziumPeer PROPERTIES EXPECTED_EVENTS [KAFKA_BOOTSTRAP TOPIC_PREFIX]");
            System.exit(2);
        }
        // the binlog client logs through java.util.logging
        java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
        Properties all = new Properties();
        try (InputStream in = new FileInputStream(args[0])) {
            all.load(in);
        }
        long expected = Long.parseLong(args[1]);
        long timeoutS = Long.parseLong(all.getProperty("peer.timeout.s", "1800"));
        Properties props = new Properties();
        for (String k : all.stringPropertyNames())
            if (!k.startsWith("peer."))
                props.setProperty(k, all.getProperty(k));
        props.putIfAbsent("name", "bench-peer");
        props.putIfAbsent("converter.schemas.enable", "false");
        if (all.containsKey("peer.seed.offset"))
            seedOffset(props, all.getProperty("peer.seed.partition"), all.getProperty("peer.seed.offset"));

        KafkaProducer<String, String> producer = null;
        String topicPrefix = null;
        if (args.length == 4) {
            Properties p = new Properties();
            p.setProperty("bootstrap.servers", args[2]);
            p.setProperty("acks", "all");
            p.setProperty("enable.idempotence", "true");
            p.setProperty("linger.ms", "5");
            producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
            topicPrefix = args[3];
        }
        final KafkaProducer<String, String> out = producer;
        final String prefix = topicPrefix;
        final Writer lines = all.containsKey("peer.output")
                ? new BufferedWriter(new OutputStreamWriter(new FileOutputStream(all.getProperty("peer.output")),
                        StandardCharsets.UTF_8))
                : null;

        String dataPrefix = props.getProperty("topic.prefix", "") + ".";
        String schemaTopic = props.getProperty("topic.prefix", "");
        AtomicLong events = new AtomicLong();
        AtomicLong bytes = new AtomicLong();
        AtomicLong firstNs = new AtomicLong();
        CountDownLatch done = new CountDownLatch(1);
        String[] failure = new String[1];

        DebeziumEngine.ChangeConsumer<ChangeEvent<String, String>> consumer = (records, committer) -> {
            for (ChangeEvent<String, String> r : records) {
                String v = r.value();
                if (lines != null && (r.destination().startsWith(dataPrefix) || r.destination().equals(schemaTopic)))
                    writeLine(lines, r);
                if (v != null && r.destination().startsWith(dataPrefix)) {
                    if (events.get() == 0)
                        firstNs.compareAndSet(0, System.nanoTime());
                    bytes.addAndGet(v.length());
                    if (out != null)
                        out.send(new ProducerRecord<>(prefix + "." + r.destination(), r.key(), v));
                    if (events.incrementAndGet() == expected) {
                        if (out != null)
                            out.flush();
                        if (lines != null)
                            flush(lines);
                        done.countDown();
                    }
                }
                committer.markProcessed(r);
            }
            if (lines != null)
                flush(lines);
            committer.markBatchFinished();
        };

        // the records' headers (a primary-key move's __debezium.newkey /
        // oldkey) only when they are written out: bench runs stay as they were
        DebeziumEngine.Builder<ChangeEvent<String, String>> builder = lines != null
                ? DebeziumEngine.create(KeyValueHeaderChangeEventFormat.of(Json.class, Json.class, Json.class))
                : DebeziumEngine.create(Json.class);
        DebeziumEngine<ChangeEvent<String, String>> engine = builder
                .using(props)
                .notifying(consumer)
                .using((success, message, error) -> {
                    if (done.getCount() > 0) {
                        failure[0] = message + (error != null ? ": " + error : "");
                        done.countDown();
                    }
                })
                .build();
        Thread runner = new Thread(engine, "debezium-engine");
        runner.setDaemon(true);
        runner.start();

        boolean finished = done.await(timeoutS, TimeUnit.SECONDS);
        long endNs = System.nanoTime();
        System.err.printf("debezium-peer: %d of %d events, %d bytes rendered, first event at %.3f s, last at %.3f s%n",
                events.get(), expected, bytes.get(), firstNs.get() == 0 ? 0.0 : since(firstNs.get()), since(endNs));
        System.err.flush();
        if (!finished || events.get() < expected) {
            System.err.println("debezium-peer: " + (failure[0] != null ? "engine stopped: " + failure[0]
                    : "timed out after " + timeoutS + " s"));
            Runtime.getRuntime().halt(3);
        }
        Runtime.getRuntime().halt(0);
    }

    /* one record as a JSON line; key, value and header values are JSON text already */
    private static void writeLine(Writer w, ChangeEvent<String, String> r) {
        StringBuilder b = new StringBuilder(256);
        b.append("{\"topic\":").append(quote(r.destination()));
        b.append(",\"key\":").append(r.key() == null ? "null" : r.key());
        b.append(",\"value\":").append(r.value() == null ? "null" : r.value());
        b.append(",\"headers\":{");
        String sep = "";
        for (Object o : r.headers()) {
            Header<?> h = (Header<?>) o;
            Object hv = h.getValue();
            b.append(sep).append(quote(h.getKey())).append(':').append(hv == null ? "null" : quote(hv.toString()));
            sep = ",";
        }
        b.append("}}\n");
        try {
            w.write(b.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void flush(Writer w) {
        try {
            w.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /* a JSON string literal */
    private static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\')
                b.append('\\').append(c);
            else if (c < 0x20)
                b.append(String.format("\\u%04x", (int) c));
            else
                b.append(c);
        }
        return b.append('"').toString();
    }

    /*
     * The file offset store (Kafka Connect's FileOffsetBackingStore) is a
     * serialized map from the JSON of [engine name, source partition] to the
     * JSON of the source offset.
     */
    private static void seedOffset(Properties props, String partition, String offset) throws IOException {
        String file = props.getProperty("offset.storage.file.filename");
        if (file == null || partition == null)
            throw new IllegalArgumentException("peer.seed.offset needs peer.seed.partition and offset.storage.file.filename");
        String key = "[\"" + props.getProperty("name") + "\"," + partition + "]";
        HashMap<byte[], byte[]> raw = new HashMap<>();
        raw.put(key.getBytes(StandardCharsets.UTF_8), offset.getBytes(StandardCharsets.UTF_8));
        try (ObjectOutputStream os = new ObjectOutputStream(new FileOutputStream(file))) {
            os.writeObject(raw);
        }
    }
}

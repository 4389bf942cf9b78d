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

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectOutputStream;
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

        String dataPrefix = props.getProperty("topic.prefix", "") + ".";
        AtomicLong events = new AtomicLong();
        AtomicLong bytes = new AtomicLong();
        AtomicLong firstNs = new AtomicLong();
        CountDownLatch done = new CountDownLatch(1);
        String[] failure = new String[1];

        DebeziumEngine.ChangeConsumer<ChangeEvent<String, String>> consumer = (records, committer) -> {
            for (ChangeEvent<String, String> r : records) {
                String v = r.value();
                if (v != null && r.destination().startsWith(dataPrefix)) {
                    if (events.get() == 0)
                        firstNs.compareAndSet(0, System.nanoTime());
                    bytes.addAndGet(v.length());
                    if (out != null)
                        out.send(new ProducerRecord<>(prefix + "." + r.destination(), r.key(), v));
                    if (events.incrementAndGet() == expected) {
                        if (out != null)
                            out.flush();
                        done.countDown();
                    }
                }
                committer.markProcessed(r);
            }
            committer.markBatchFinished();
        };

        DebeziumEngine<ChangeEvent<String, String>> engine = DebeziumEngine.create(Json.class)
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

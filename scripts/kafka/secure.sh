# The secured single node of scripts/kafka.sh (sourced by it; uses its helpers): what a
# company's Kafka platform looks like to a client. Certificates and passwords are made
# with openssl and keytool at the first start and kept in the node's directory.
#
#   SASL_SSL     SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN over TLS   (port 1, 9192)
#   MTLS         TLS with a required client certificate; the principal is the
#                certificate's CN (User:<CN>)                        (port 2, 9193)
#   OAUTH        SASL_SSL with OAUTHBEARER; Kafka's built-in unsecured JWT validator
#                (unsigned tokens, `sub` is the principal, `exp` is enforced) (port 3, 9194)
#   CONTROLLER   plaintext on 127.0.0.1 (KRaft quorum only)         (port 4, 9195)
#
# StandardAuthorizer with allow.everyone.if.no.acl.found=false: every principal but the
# super users needs ACLs. Super users: admin (also the inter-broker login) and ANONYMOUS,
# the identity the broker registers with over the plaintext controller listener
# (docs/kafkajs-notes.md); nothing but the quorum listens there.

IFS=, read -r -a secure_ports <<<"${KAFKA_SECURE_PORTS:-9192,9193,9194,9195}"
[ ${#secure_ports[@]} -eq 4 ] || die "KAFKA_SECURE_PORTS needs four ports, got '${KAFKA_SECURE_PORTS:-}'"
secure_dir=$home/secure
read -r -a secure_users <<<"${KAFKA_SECURE_USERS:-admin runstream}"

secure_certs() { # <node dir>: a CA, the broker's key store, a trust store, one client certificate per user
  local tls=$1/tls creds=$1/credentials user
  [ -f "$tls/.complete" ] && return 0
  command -v openssl >/dev/null || die "openssl not found: it makes the secure node's certificates"
  command -v keytool >/dev/null || die "keytool not found: it comes with Java 17"
  rm -rf "$tls" "$creds"
  mkdir -p "$tls" "$creds"
  chmod 700 "$creds"
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -keyout "$tls/ca.key" -out "$tls/ca.crt" -days 3650 \
    -subj "/CN=runstream local Kafka CA" 2>/dev/null
  issue() { # <name> <subject> <extensions>
    openssl req "${ec[@]}" -keyout "$tls/$1.key" -out "$tls/$1.csr" -subj "$2" 2>/dev/null
    openssl x509 -req -in "$tls/$1.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
      -days 825 -out "$tls/$1.crt" -extfile <(printf '%s\n' "$3") 2>/dev/null
    rm -f "$tls/$1.csr"
  }
  issue broker "/CN=localhost" $'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth'
  openssl rand -hex 16 >"$tls/store.password"
  local store
  store=$(cat "$tls/store.password")
  openssl pkcs12 -export -in "$tls/broker.crt" -inkey "$tls/broker.key" -certfile "$tls/ca.crt" \
    -name broker -out "$tls/broker.p12" -passout "pass:$store"
  keytool -importcert -noprompt -alias ca -file "$tls/ca.crt" -keystore "$tls/truststore.p12" \
    -storetype PKCS12 -storepass "$store" >/dev/null 2>&1
  for user in "${secure_users[@]}"; do
    issue "$user" "/CN=$user" 'extendedKeyUsage=clientAuth'
    openssl rand -hex 16 >"$creds/$user.password"
  done
  touch "$tls/.complete"
}

write_secure_props() { # <node dir>
  local dir=$1 tls=$1/tls store admin plain_users="" user
  store=$(cat "$tls/store.password")
  admin=$(cat "$dir/credentials/admin.password")
  for user in "${secure_users[@]}"; do
    plain_users+=" user_$user=\"$(cat "$dir/credentials/$user.password")\""
  done
  local p=("${secure_ports[@]}")
  write_node_props "$dir" 1 "1@127.0.0.1:${p[3]}" \
"listeners=SASL_SSL://127.0.0.1:${p[0]},MTLS://127.0.0.1:${p[1]},OAUTH://127.0.0.1:${p[2]},CONTROLLER://127.0.0.1:${p[3]}
advertised.listeners=SASL_SSL://127.0.0.1:${p[0]},MTLS://127.0.0.1:${p[1]},OAUTH://127.0.0.1:${p[2]}
listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,MTLS:SSL,OAUTH:SASL_SSL
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"$admin\";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required$plain_users;
listener.name.mtls.ssl.client.auth=required
listener.name.oauth.sasl.enabled.mechanisms=OAUTHBEARER
listener.name.oauth.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub=\"admin\";
ssl.keystore.type=PKCS12
ssl.keystore.location=$tls/broker.p12
ssl.keystore.password=$store
ssl.key.password=$store
ssl.truststore.type=PKCS12
ssl.truststore.location=$tls/truststore.p12
ssl.truststore.password=$store
ssl.principal.mapping.rules=RULE:^CN=([^,]+)\$/\$1/,DEFAULT
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:ANONYMOUS
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1"
}

start_secure() {
  local p=("${secure_ports[@]}") port
  if pid_alive "$secure_dir/broker.pid" && port_open "${p[0]}"; then
    echo "kafka: secure node already running on 127.0.0.1:${p[0]} (pid $(cat "$secure_dir/broker.pid"))"
    return 0
  fi
  for port in "${p[@]}"; do
    port_open "$port" && die "port $port is taken by a process this script did not start"
  done
  [[ " ${secure_users[*]} " == *" admin "* ]] || die "KAFKA_SECURE_USERS must include admin (the super user)"
  jars
  mkdir -p "$secure_dir/logs"
  secure_certs "$secure_dir"
  write_secure_props "$secure_dir"
  [ -f "$secure_dir/cluster.id" ] || new_cluster_id "$secure_dir" >/dev/null
  local scram=() user password
  for user in "${secure_users[@]}"; do
    password=$(cat "$secure_dir/credentials/$user.password")
    scram+=(--add-scram "SCRAM-SHA-512=[name=$user,password=$password]"
      --add-scram "SCRAM-SHA-256=[name=$user,password=$password]")
  done
  format_once "$secure_dir" "$(cat "$secure_dir/cluster.id")" "${scram[@]}"
  launch "$secure_dir" 512m -XX:+UseG1GC
  wait_ready "$secure_dir" "${p[0]}"
  cat <<EOF
kafka: secure node ready (pid $(cat "$secure_dir/broker.pid"), data $secure_dir)
  SASL_SSL (SCRAM-SHA-512, SCRAM-SHA-256, PLAIN) 127.0.0.1:${p[0]}, mTLS 127.0.0.1:${p[1]}, OAUTHBEARER 127.0.0.1:${p[2]}
  users: ${secure_users[*]} (admin is the super user; the others need ACLs: docs/kafka-platform.md)
  CA $secure_dir/tls/ca.crt; passwords $secure_dir/credentials/<user>.password; client certificates $secure_dir/tls/<user>.crt and .key
  e.g. KAFKA_BROKERS=127.0.0.1:${p[0]} KAFKA_SSL_CA_FILE=$secure_dir/tls/ca.crt KAFKA_SASL_MECHANISM=scram-sha-512 KAFKA_SASL_USERNAME=admin KAFKA_SASL_PASSWORD_FILE=$secure_dir/credentials/admin.password
EOF
}

"""What the salt-minion runs for p2pdist: it starts the agent, hands it the master's orders,
reports progress, works out the host's site and keeps the share policy in step with pillar."""

DROP TABLE console_tickets;
